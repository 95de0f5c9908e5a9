// Live status of posts (UX-5e): asks the server for each unfinished post's state and redraws
// it. Post ids arrive as JSON strings and are only ever handled as strings, so 19-digit TikTok
// ids are never rounded by JavaScript numbers.
(function () {
  "use strict";

  function delay(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  async function fetchStatus(id) {
    var response = await fetch("/posts/" + encodeURIComponent(id) + "/status", {
      headers: { "Accept": "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) { throw new Error("status " + response.status); }
    return response.json();
  }

  async function refreshDetail(section) {
    // The server renders the status fragment; reloading it keeps every word translated there.
    var response = await fetch(window.location.pathname, { credentials: "same-origin" });
    if (!response.ok) { return; }
    var html = await response.text();
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("post-live");
    if (fresh) {
      section.replaceChildren.apply(section, Array.from(fresh.childNodes));
      section.dataset.state = fresh.dataset.state;
      section.dataset.final = fresh.dataset.final;
      section.dataset.linkPending = fresh.dataset.linkPending;
    }
    ["post-cancel", "post-edit", "post-confirm"].forEach(function (name) {
      var old = document.querySelector("." + name);
      var now = doc.querySelector("." + name);
      if (old && !now) { old.remove(); }
    });
  }

  async function followDetail(section) {
    var wait = 1500;
    // A published public post is followed on, more slowly, until TikTok gives its link.
    while (section.dataset.final !== "true" || section.dataset.linkPending === "true") {
      var pending = section.dataset.final === "true";
      await delay(pending ? Math.max(wait, 5000) : wait);
      try {
        var status = await fetchStatus(section.dataset.postId);
        if (status.state !== section.dataset.state || (status.final && !pending) ||
            (pending && !status.link_pending)) {
          await refreshDetail(section);
        }
        wait = 1500;
      } catch (err) {
        wait = Math.min(wait * 2, 30000);
      }
    }
  }

  async function followRow(row) {
    var wait = 3000;
    for (;;) {
      await delay(wait);
      try {
        var status = await fetchStatus(row.dataset.postId);
        var label = row.querySelector("[data-role=state-label]");
        if (label && status.state !== row.dataset.state) {
          label.textContent = status.state_label;
          label.className = "badge state-" + status.state;
          row.dataset.state = status.state;
        }
        if (status.final) { return; }
      } catch (err) {
        wait = Math.min(wait * 2, 60000);
      }
    }
  }

  var FINAL = ["published", "sent_to_inbox", "failed", "cancelled", "disconnected", "try_later", "needs_confirmation"];
  var section = document.getElementById("post-live");
  if (section) { followDetail(section); }
  document.querySelectorAll("[data-post-id]:not(#post-live)").forEach(function (row) {
    if (FINAL.indexOf(row.dataset.state) === -1) { followRow(row); }
  });
})();
