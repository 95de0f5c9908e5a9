/* The Post page's small script: send every form change to the server and show the controls it
 * answers with. It decides nothing: what is offered, disabled, checked or allowed comes from
 * directpost.rules on the server (/compose/state). No inline script, so the CSP stays strict. */
(function () {
  "use strict";
  var form = document.getElementById("compose-form");
  var slot = document.getElementById("compose-controls");
  if (!form || !slot) { return; }
  var stateUrl = form.getAttribute("data-state-url");
  var previewUrl = form.getAttribute("data-preview-url");
  var csrf = form.querySelector('input[name="csrf_token"]').value;
  var sequence = 0;
  var timer = null;

  function formBody() {
    return new URLSearchParams(new FormData(form));
  }

  function textFields() {
    var values = {};
    slot.querySelectorAll('input[type="text"], input[type="datetime-local"], textarea').forEach(function (el) {
      values[el.name] = el.value;
    });
    return values;
  }

  function swap(html, sent) {
    var active = document.activeElement;
    var activeId = active && slot.contains(active) ? active.id : "";
    var selection = null;
    if (activeId && typeof active.selectionStart === "number") {
      selection = [active.selectionStart, active.selectionEnd];
    }
    var typed = textFields();
    var template = document.createElement("template");
    template.innerHTML = html;
    slot.replaceChildren(template.content);
    // Keep what the user typed while the answer was on its way, and ask again for it.
    var again = false;
    Object.keys(typed).forEach(function (name) {
      var el = slot.querySelector('[name="' + name + '"]');
      if (el && el.value !== typed[name]) { el.value = typed[name]; }
      if (typed[name] !== (sent.get(name) || "")) { again = true; }
    });
    if (activeId) {
      var again_el = document.getElementById(activeId);
      if (again_el) {
        again_el.focus();
        if (selection && typeof again_el.setSelectionRange === "function") {
          try { again_el.setSelectionRange(selection[0], selection[1]); } catch (e) { /* n/a */ }
        }
      }
    }
    detectTimeZone();
    slot.setAttribute("aria-busy", "false");
    form.dispatchEvent(new CustomEvent("directpost:controls-updated", { bubbles: true }));
    if (again) { schedule(150); }
  }

  // "Publish later": the time is read in the browser's own zone, which only the browser knows.
  // The server converts it (and shows the zone it used); without script the field says UTC.
  function detectTimeZone() {
    var field = document.getElementById("time_zone");
    if (!field || !field.hasAttribute("data-detect-zone")) { return; }
    field.removeAttribute("data-detect-zone");
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    if (zone) { field.value = zone; }
  }

  function refresh() {
    var mine = ++sequence;
    var sent = formBody();
    slot.setAttribute("aria-busy", "true");
    fetch(stateUrl, {
      method: "POST",
      body: sent,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "text/html" }
    }).then(function (response) {
      return response.text().then(function (html) {
        if (mine !== sequence) { return; } // a newer answer is on its way
        if (!response.ok) {
          slot.setAttribute("aria-busy", "false");
          var box = document.getElementById("compose-error") || document.createElement("div");
          box.id = "compose-error";
          box.setAttribute("role", "alert");
          box.innerHTML = html;
          slot.prepend(box);
          return;
        }
        swap(html, sent);
      });
    }).catch(function () {
      if (mine !== sequence) { return; }
      slot.setAttribute("aria-busy", "false");
      schedule(2000); // offline for a moment: try again
    });
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, delay);
  }

  form.addEventListener("change", function (event) {
    if (event.target.id === "cover_timestamp_ms") { return; }
    schedule(0);
  });
  form.addEventListener("input", function (event) {
    var el = event.target;
    if (el.id === "cover_timestamp_ms") { showCoverFrame(el); return; }
    if (el.matches('input[type="text"], textarea')) { schedule(200); }
    if (el.id === "scheduled_at") { schedule(400); } // the button says "Schedule" when set
  });

  // Cover frame picker: the preview player shows the frame the slider points at.
  function showCoverFrame(range) {
    var video = document.getElementById("preview-video");
    var seconds = Number(range.value) / 1000;
    if (video && isFinite(seconds)) {
      video.pause();
      video.currentTime = seconds;
    }
    var out = document.getElementById("cover-time");
    if (out) { out.textContent = seconds.toFixed(1) + " s"; }
  }

  // The empty phone shown before an upload, kept to put back when the upload is replaced.
  var previewSlot = document.getElementById("compose-preview");
  var emptyPreview = previewSlot ? previewSlot.cloneNode(true).childNodes : [];
  var emptyNodes = Array.prototype.map.call(emptyPreview, function (n) { return n; });
  function showEmptyPreview() {
    if (!previewSlot) { return; }
    previewSlot.replaceChildren.apply(previewSlot, emptyNodes.map(function (n) { return n.cloneNode(true); }));
  }
  if (previewSlot && !previewSlot.querySelector(".phone-empty")) { emptyNodes = []; }

  function loadPreview(uploadId) {
    var target = document.getElementById("compose-preview");
    if (!target) { return; }
    fetch(previewUrl + "?upload=" + encodeURIComponent(uploadId), {
      credentials: "same-origin", headers: { "Accept": "text/html" }
    }).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(function (html) {
      var template = document.createElement("template");
      template.innerHTML = html;
      target.replaceChildren(template.content);
    });
  }

  detectTimeZone();

  // upload.js announces each upload's outcome; the rules then decide what the page allows.
  document.addEventListener("directpost:upload", function (event) {
    var detail = event.detail || {};
    document.getElementById("upload-id").value = detail.id || "";
    if (detail.state === "ready") { loadPreview(detail.id); }
    else { showEmptyPreview(); }
    schedule(0);
  });
})();
