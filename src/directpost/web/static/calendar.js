// The calendar's progressive enhancement. Without it the page works as plain HTML: the zone
// field, the filters and each scheduled post's "Move" form. With it:
//  - the browser's own time zone (Intl) is used when the address does not name one;
//  - a scheduled post can be dragged to another day, or moved with the keyboard (arrow keys
//    pick a day, Enter moves, Escape stays), each announced in the live region;
// Both send the same request as the "Move" form to POST /posts/{id}/schedule (the server
// alone decides whether the post may still move), then the calendar is drawn again from the
// server's page, so every word stays rendered (and translated) there.
(function () {
  "use strict";

  var live = document.getElementById("cal-live");

  function say(text) {
    if (live) { live.textContent = text; }
  }

  // A sentence from the page (data-* on the live region), its {names} filled in.
  function words(name, values) {
    var text = (live && live.dataset[name]) || "";
    return text.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : all;
    });
  }

  // --- the zone ---------------------------------------------------------------------------
  var zoneField = document.querySelector("#cal-tz[data-detect-zone]");
  var params = new URLSearchParams(window.location.search);
  if (zoneField && !params.has("tz")) {
    var browserZone = "";
    try { browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { }
    if (browserZone && browserZone !== zoneField.value) {
      params.set("tz", browserZone);
      window.location.replace(window.location.pathname + "?" + params.toString() + window.location.hash);
      return;
    }
  }

  var calendar = document.getElementById("calendar");
  if (!calendar) { return; }

  function dayCell(iso) { return calendar.querySelector('.cal-day[data-date="' + iso + '"]'); }

  function dayName(iso) {
    var cell = dayCell(iso);
    return cell ? cell.dataset.label : iso;
  }

  function postTitle(post) {
    var title = post.querySelector(".cal-post-title");
    return title ? title.textContent.trim() : "";
  }

  function shiftDate(iso, days) {
    var d = new Date(iso + "T12:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  async function redraw(postId) {
    var response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) { window.location.reload(); return; }
    var doc = new DOMParser().parseFromString(await response.text(), "text/html");
    var fresh = doc.getElementById("calendar");
    if (!fresh) { window.location.reload(); return; }
    calendar.replaceChildren.apply(calendar, Array.from(fresh.childNodes));
    var moved = calendar.querySelector('.cal-post[data-post-id="' + postId + '"] .cal-post-link');
    if (moved) { moved.focus(); }
  }

  async function move(post, iso) {
    var form = post.querySelector(".cal-move form");
    if (!form) { return; }
    var data = new FormData(form);
    var when = iso + "T" + post.dataset.time;
    data.set("scheduled_at", when);
    data.set("time_zone", calendar.dataset.zone);
    var title = postTitle(post);
    var said = { title: title, day: dayName(iso), time: post.dataset.time };
    say(words("moving", said));
    var response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "Accept": "application/json" },
      });
    } catch (err) {
      say(words("refused", { reason: words("offline", {}) }));
      return;
    }
    if (!response.ok) {
      var reason = "";
      try {
        var body = await response.json();
        reason = Array.isArray(body.detail) ? body.detail.join(" ") : String(body.detail || "");
      } catch (err) { reason = ""; }
      say(words("refused", { reason: reason || "HTTP " + response.status }));
      return;
    }
    await redraw(post.dataset.postId);
    say(words("moved", said));
  }

  // --- drag and drop ----------------------------------------------------------------------
  var dragged = null;

  calendar.addEventListener("dragstart", function (event) {
    var post = event.target.closest && event.target.closest(".cal-post[data-movable]");
    if (!post) { return; }
    dragged = post;
    post.classList.add("cal-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", post.dataset.postId);
  });

  calendar.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("cal-dragging"); }
    dragged = null;
    calendar.querySelectorAll(".cal-drop").forEach(function (el) { el.classList.remove("cal-drop"); });
  });

  calendar.addEventListener("dragover", function (event) {
    var cell = event.target.closest && event.target.closest(".cal-day:not(.cal-past)");
    if (!dragged || !cell) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    calendar.querySelectorAll(".cal-drop").forEach(function (el) {
      if (el !== cell) { el.classList.remove("cal-drop"); }
    });
    cell.classList.add("cal-drop");
  });

  calendar.addEventListener("drop", function (event) {
    var cell = event.target.closest && event.target.closest(".cal-day:not(.cal-past)");
    if (!dragged || !cell) { return; }
    event.preventDefault();
    var post = dragged;
    cell.classList.remove("cal-drop");
    if (post.closest(".cal-day") === cell) { return; }
    move(post, cell.dataset.date);
  });

  // --- keyboard ---------------------------------------------------------------------------
  var pending = null; // {post, iso}

  function clearTarget() {
    calendar.querySelectorAll(".cal-target").forEach(function (el) { el.classList.remove("cal-target"); });
  }

  var STEPS = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };

  calendar.addEventListener("keydown", function (event) {
    var post = event.target.closest && event.target.closest(".cal-post[data-movable]");
    if (!post || event.target.closest(".cal-move") || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    if (event.key in STEPS) {
      event.preventDefault();
      var from = pending && pending.post === post ? pending.iso : post.closest(".cal-day").dataset.date;
      var iso = shiftDate(from, STEPS[event.key]);
      pending = { post: post, iso: iso };
      clearTarget();
      var cell = dayCell(iso);
      if (cell) { cell.classList.add("cal-target"); }
      say(words("ask", { title: postTitle(post), day: dayName(iso), time: post.dataset.time }));
    } else if (event.key === "Enter" && pending && pending.post === post) {
      event.preventDefault();
      var target = pending.iso;
      pending = null;
      clearTarget();
      move(post, target);
    } else if (event.key === "Escape" && pending) {
      event.preventDefault();
      pending = null;
      clearTarget();
      say(words("kept", {}));
    }
  });

  calendar.addEventListener("focusout", function (event) {
    if (pending && !pending.post.contains(event.relatedTarget)) {
      pending = null;
      clearTarget();
    }
  });
})();
