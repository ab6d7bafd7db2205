/* hpf pages: the upload progress bar. htmx sends the remittance file (hx-post on the upload
   button) and reports the upload's progress as htmx:xhr:progress on that button; the bar is the
   <progress class="hpf-upload-progress"> of the same form. No inline scripts (CSP script-src 'self'). */
(function () {
  "use strict";
  function barOf(evt) {
    var form = evt.target && evt.target.closest ? evt.target.closest("form") : null;
    return form ? form.querySelector("progress.hpf-upload-progress") : null;
  }
  document.addEventListener("htmx:xhr:progress", function (evt) {
    var bar = barOf(evt);
    if (bar && evt.detail && evt.detail.lengthComputable && evt.detail.total > 0) {
      bar.value = Math.round((evt.detail.loaded * 100) / evt.detail.total);
    }
  });
  document.addEventListener("htmx:xhr:loadstart", function (evt) {
    var bar = barOf(evt);
    if (bar) { bar.value = 0; }
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var bar = barOf(evt);
    if (bar) { bar.value = 100; }
  });
})();
