// s5sync dashboard behaviour. No inline script anywhere (Content-Security-Policy).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";

  // CSRF: every htmx request carries the session's token.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = token;
  });

  // R14: an open dashboard sends a heartbeat; without one for 2 minutes the user is idle.
  function heartbeat() {
    var status = document.getElementById("status");
    if (!status) { return; }
    fetch(status.getAttribute("data-heartbeat"), {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": token }
    }).catch(function () { /* the next beat tries again */ });
  }
  setInterval(heartbeat, 60000);

  // Login CSRF (web/security.py): the sign-in answer, posted again from this origin.
  document.addEventListener("DOMContentLoaded", function () {
    var relay = document.querySelector("form[data-autosubmit]");
    if (relay) { relay.submit(); }
  });

  // The next cycle, counted down.
  function countdown() {
    var items = document.querySelectorAll("time.countdown");
    for (var i = 0; i < items.length; i++) {
      var left = Math.round((Date.parse(items[i].getAttribute("datetime")) - Date.now()) / 1000);
      if (left <= 0) { items[i].textContent = "any moment now"; continue; }
      var minutes = Math.floor(left / 60), seconds = left % 60;
      items[i].textContent = "in " + (minutes ? minutes + " min " : "") + seconds + " s";
    }
  }
  // "Last sync 12 s ago", kept current (issue 20 item 2). Outside the live region:
  // screen readers are not told every second.
  function ago() {
    var items = document.querySelectorAll("time.ago");
    for (var i = 0; i < items.length; i++) {
      var past = Math.round((Date.now() - Date.parse(items[i].getAttribute("datetime"))) / 1000);
      if (past < 0) { past = 0; }
      var text = past < 60 ? past + " s ago"
        : past < 3600 ? Math.floor(past / 60) + " min ago"
        : Math.floor(past / 3600) + " h ago";
      items[i].textContent = text;
    }
  }
  setInterval(ago, 1000);
  document.addEventListener("DOMContentLoaded", ago);
  document.addEventListener("htmx:afterSwap", ago);
  setInterval(countdown, 1000);
  document.addEventListener("DOMContentLoaded", countdown);
  document.addEventListener("htmx:afterSwap", countdown);
})();
