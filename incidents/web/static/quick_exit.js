// Quick exit from the keyboard: Escape pressed twice within a second does what the
// header's "Quick exit" button does (end the session on the server), then replaces this
// page in the browser's history with the neutral page, so that Back does not return here.
// Without JavaScript the button alone does it, as a plain form.
(function () {
  "use strict";

  var form = document.querySelector("form[data-quick-exit]");
  if (!form) {
    return;
  }
  var WITHIN_MS = 1000;
  var GIVE_UP_MS = 500; // leave even if the server is slow: the page is gone either way
  var lastEscape = 0;
  var leaving = false;
  var gone = false;

  function go() {
    if (!gone) {
      gone = true;
      window.location.replace(form.getAttribute("data-exit-to"));
    }
  }

  function leave() {
    if (leaving) {
      return;
    }
    leaving = true;
    document.documentElement.hidden = true; // nothing of the page stays on screen
    window.fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      redirect: "manual",
      keepalive: true
    }).then(go, go);
    window.setTimeout(go, GIVE_UP_MS);
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var now = Date.now();
    if (now - lastEscape <= WITHIN_MS) {
      leave();
    } else {
      lastEscape = now;
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    leave();
  });
})();
