// The print button of print-friendly pages (inline scripts are refused by the CSP).
document.addEventListener("click", function (event) {
  if (event.target && event.target.hasAttribute("data-print")) {
    window.print();
  }
});
