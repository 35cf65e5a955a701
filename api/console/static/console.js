// The console's one script, a convenience only: every page works without it.
// It takes the browser to the sign-in page when the session's idle time has passed
// (the server has ended it by then, and records the logoff at that request), warns a
// minute before, and prints the accounting letter.
(function () {
  "use strict";
  var idle = Number(document.body.getAttribute("data-idle-seconds"));
  if (idle > 0) {
    var warning = document.getElementById("idle-warning");
    if (warning && idle > 120) {
      window.setTimeout(function () { warning.hidden = false; }, (idle - 60) * 1000);
    }
    window.setTimeout(function () {
      window.location.assign("/console/sign-in?ended=idle");
    }, (idle + 1) * 1000);
  }
  var print = document.getElementById("print-letter");
  if (print) {
    print.addEventListener("click", function () { window.print(); });
  }
})();
