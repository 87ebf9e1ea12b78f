// daxd console: small enhancements. Every page works without this script.
(function () {
  "use strict";

  // Region selector: switch as soon as a region is chosen.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });

  // Copy buttons next to read-only fields.
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var text = btn.getAttribute("data-copy");
      var done = function () { btn.textContent = "Copied"; setTimeout(function () { btn.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () {
          var input = btn.parentNode.querySelector("textarea, input"); if (input) { input.select(); }
        });
      } else {
        var input = btn.parentNode.querySelector("textarea, input"); if (input) { input.select(); document.execCommand("copy"); done(); }
      }
    });
  });

  // Confirmation boxes rendered open by the server become modal; Escape cancels.
  document.querySelectorAll("dialog[open]").forEach(function (dlg) {
    try { dlg.close(); dlg.showModal(); } catch (e) { /* keep it open as rendered */ }
    var focus = dlg.querySelector("[autofocus]"); if (focus) { focus.focus(); }
    dlg.addEventListener("cancel", function (ev) {
      ev.preventDefault();
      var to = dlg.getAttribute("data-cancel"); if (to) { window.location.assign(to); }
    });
  });

  // Actions menus: the button shows and hides the items; Escape and a click
  // elsewhere close them.
  function setMenu(btn, open) {
    btn.setAttribute("aria-expanded", open ? "true" : "false");
    var items = document.getElementById(btn.getAttribute("aria-controls"));
    if (items) { items.hidden = !open; }
  }
  function initMenus(root) {
    root.querySelectorAll("button[data-menu]").forEach(function (btn) {
      setMenu(btn, false);
      btn.addEventListener("click", function () { setMenu(btn, btn.getAttribute("aria-expanded") !== "true"); });
    });
  }
  initMenus(document);
  document.addEventListener("click", function (ev) {
    document.querySelectorAll("button[data-menu][aria-expanded='true']").forEach(function (b) {
      if (!b.parentNode.contains(ev.target)) { setMenu(b, false); }
    });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") { return; }
    document.querySelectorAll("button[data-menu][aria-expanded='true']").forEach(function (b) { setMenu(b, false); b.focus(); });
  });

  // Progress: elements with data-refresh-ms are fetched again and replaced
  // while the page follows a long operation (or a live chart).
  function refresh(el) {
    var ms = parseInt(el.getAttribute("data-refresh-ms"), 10) || 2000;
    setTimeout(function () {
      if (!document.body.contains(el)) { return; }
      if (document.querySelector("dialog[open]")) { refresh(el); return; }
      fetch(window.location.href, { credentials: "same-origin", headers: { "X-Console-Refresh": "1" } })
        .then(function (resp) {
          if (resp.redirected || !resp.ok) { window.location.reload(); return null; }
          return resp.text();
        })
        .then(function (text) {
          if (text === null) { return; }
          var doc = new DOMParser().parseFromString(text, "text/html");
          var fresh = el.id ? doc.getElementById(el.id) : null;
          if (!fresh) { window.location.reload(); return; }
          var active = document.activeElement && document.activeElement.id;
          el.replaceWith(fresh);
          if (active) { var a = document.getElementById(active); if (a) { a.focus(); } }
          fresh.querySelectorAll("button[data-copy]").forEach(function (b) { b.hidden = false; });
          initMenus(fresh);
          if (fresh.hasAttribute("data-refresh-ms")) { refresh(fresh); }
        })
        .catch(function () { refresh(el); });
    }, ms);
  }
  document.querySelectorAll("[data-refresh-ms][id]").forEach(refresh);
})();
