// methodic-fake dashboard: keep the page current without reloading it.
//
// Every couple of seconds, fetch this same page and swap in the parts marked
// `data-live` (matched by id). Forms are submitted with fetch too, and the page
// their 303 leads back to is swapped in the same way, with its notice or error.
// Without JavaScript everything still works, with full page loads.
(function () {
  "use strict";
  var REFRESH_MS = 2000;
  var status = document.getElementById("refresh-status");
  var busy = false;

  function swap(doc, selector) {
    document.querySelectorAll(selector).forEach(function (el) {
      var fresh = el.id ? doc.getElementById(el.id) : null;
      if (fresh && fresh.innerHTML !== el.innerHTML) {
        el.innerHTML = fresh.innerHTML;
      }
    });
  }

  function show(text, stale) {
    if (status) {
      status.textContent = text;
      status.classList.toggle("stale", stale);
    }
  }

  function load(response) {
    if (!response.ok) {
      throw new Error("HTTP " + response.status);
    }
    return response.text().then(function (html) {
      return new DOMParser().parseFromString(html, "text/html");
    });
  }

  function refresh() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    fetch(location.pathname + location.search, { cache: "no-store" })
      .then(load)
      .then(function (doc) {
        swap(doc, "[data-live]");
        show("live · " + new Date().toLocaleTimeString(), false);
      })
      .catch(function (err) {
        show("not updating: " + err.message, true);
      })
      .finally(function () {
        busy = false;
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.method.toLowerCase() !== "post") {
      return;
    }
    event.preventDefault();
    var body = new URLSearchParams(new FormData(form, event.submitter));
    busy = true;
    fetch(form.action, { method: "POST", body: body, cache: "no-store" })
      .then(load)
      .then(function (doc) {
        swap(doc, "[data-live], #flash");
        show("updated · " + new Date().toLocaleTimeString(), false);
      })
      .catch(function (err) {
        show("request failed: " + err.message, true);
      })
      .finally(function () {
        busy = false;
      });
  });

  // A notice in the URL (after a form posted without fetch) is shown once, not on
  // every refresh or bookmark.
  if (/[?&](notice|error)=/.test(location.search)) {
    history.replaceState(null, "", location.pathname);
  }
  setInterval(refresh, REFRESH_MS);
  document.addEventListener("visibilitychange", refresh);
})();
