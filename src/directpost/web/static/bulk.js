// The bulk form's small help, none of it needed: without script the zone stays UTC (the
// creator may type theirs) and the server refuses an oversized batch itself.
//  - the browser's own time zone (Intl) fills the zone field, like the Post page's;
//  - the files chosen are counted and added up, and a batch past the limits is stopped
//    before its bytes travel. The sentences come from the page (data-*), translated there.
(function () {
  "use strict";

  var zone = document.querySelector("#time_zone[data-detect-zone]");
  if (zone) {
    zone.removeAttribute("data-detect-zone");
    try { zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || zone.value; } catch (e) { }
  }

  var form = document.getElementById("bulk-form");
  var summary = document.getElementById("bulk-summary");
  if (!form || !summary) { return; }

  function words(name, values) {
    return (form.dataset[name] || "").replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : all;
    });
  }

  function size(bytes) {
    if (bytes >= 1073741824) { return (bytes / 1073741824).toFixed(1) + " GB"; }
    if (bytes >= 1048576) { return (bytes / 1048576).toFixed(1) + " MB"; }
    return Math.max(1, Math.round(bytes / 1024)) + " kB";
  }

  // What the form would send, and the sentence that stops it (empty when it may go).
  function tally() {
    var count = 0, bytes = 0;
    form.querySelectorAll('input[type="file"]').forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) { count += 1; bytes += file.size; });
    });
    var maxBytes = Number(form.dataset.maxBytes), maxFiles = Number(form.dataset.maxFiles);
    var stop = "";
    if (bytes > maxBytes) { stop = words("tooLarge", { size: size(bytes), max: size(maxBytes) }); }
    else if (count > maxFiles + 1) { stop = words("tooMany", { files: count, max: maxFiles }); }
    summary.textContent = stop || (count ? words("summary", { files: count, size: size(bytes) }) : "");
    summary.classList.toggle("alert", Boolean(stop));
    return stop;
  }

  form.addEventListener("change", tally);
  form.addEventListener("submit", function (event) {
    if (tally()) { event.preventDefault(); summary.focus(); }
  });
})();
