"""Service hotline (12329/12345 热线) and web-message tickets (工单), replies and callbacks (回访)."""
