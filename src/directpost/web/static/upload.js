/* Uploads the chosen video or photos to this app in resumable chunks, with a progress bar.
 *
 * create (POST /uploads) -> PUT each chunk at its offset -> finish (POST /uploads/{id}/finish).
 * After a network error, or after a reload when the same files are chosen again, it asks the
 * server how many bytes arrived and continues from there. The server probes and checks the
 * files; this script only reports what the server says. Files are sent exactly as they are. */
(function () {
  "use strict";
  var area = document.getElementById("upload-area");
  var input = document.getElementById("media-input");
  var form = document.getElementById("compose-form");
  if (!area || !input || !form) { return; }
  var CHUNK = 8 * 1024 * 1024;
  var MAX_TRIES = 8;
  var csrf = form.querySelector('input[name="csrf_token"]').value;
  var progressBox = area.querySelector(".upload-progress");
  var bar = document.getElementById("upload-progress-bar");
  var barText = document.getElementById("upload-progress-text");
  var messages = document.getElementById("upload-messages");
  var resumeButton = document.getElementById("upload-resume");
  var current = null; // {files, upload}

  // Words come from the page (translated there with gettext), with English as a fallback.
  var FALLBACK = {
    "checking": "Checking…",
    "checked": "Uploaded and checked.",
    "uploaded": "Uploaded.",
    "continuing": "Continuing your earlier upload where it stopped.",
    "offline": "The connection was lost. Your upload is kept: press “Resume upload” when you are back online.",
    "refused": "The upload was refused.",
    "unchecked": "The files could not be checked.",
    "cannotResume": "The upload could not be resumed. Choose the files again.",
    "stillOffline": "Still offline. Try again in a moment.",
    "interrupted": "An upload of yours was interrupted. Choose the same files again to continue it."
  };
  function text(key) {
    return area.getAttribute("data-msg-" + key.replace(/[A-Z]/g, function (c) {
      return "-" + c.toLowerCase();
    })) || FALLBACK[key];
  }

  function say(text, isProblem) {
    var p = document.createElement("p");
    p.textContent = text;
    if (isProblem) { p.className = "problem"; p.setAttribute("role", "alert"); }
    messages.appendChild(p);
  }

  function clearMessages() { messages.replaceChildren(); }

  function announce(upload) {
    document.dispatchEvent(new CustomEvent("directpost:upload", {
      detail: { id: upload ? upload.id : "", state: upload ? upload.state : "" }
    }));
  }

  function signature(files) {
    return "directpost.upload:" + files.map(function (f) {
      return [f.name, f.size, f.lastModified].join("|");
    }).join("/");
  }

  function api(method, url, body, type) {
    var headers = { "X-CSRF-Token": csrf, "Accept": "application/json" };
    if (type) { headers["Content-Type"] = type; }
    return fetch(url, { method: method, body: body, headers: headers, credentials: "same-origin" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { status: response.status, ok: response.ok, data: data };
        });
      });
  }

  var barLabel = document.getElementById("upload-progress-label");
  function showProgress(sent, total) {
    progressBox.hidden = false;
    var percent = total ? Math.floor((sent / total) * 100) : 0;
    bar.value = percent;
    barText.textContent = percent + "%";
    // At 100 % every byte has arrived: the bar says so, not "Uploading".
    var key = percent >= 100 ? "data-label-uploaded" : "data-label-uploading";
    if (barLabel) { barLabel.textContent = progressBox.getAttribute(key) || barLabel.textContent; }
  }

  function totalOf(files) {
    return files.reduce(function (sum, f) { return sum + f.size; }, 0);
  }

  function sleep(ms) { return new Promise(function (r) { window.setTimeout(r, ms); }); }

  // Send one file from `start`, chunk by chunk; on trouble ask the server where to go on.
  function sendFile(upload, index, files, doneBefore) {
    var file = files[index];
    var meta = upload.files[index];
    var offset = meta.received;
    var tries = 0;
    var total = totalOf(files);
    function step() {
      showProgress(doneBefore + offset, total);
      if (offset >= file.size) { return Promise.resolve(); }
      var size = Number(area.getAttribute("data-chunk-bytes")) || CHUNK;
      var end = Math.min(offset + size, file.size);
      var url = "/uploads/" + upload.id + "/files/" + meta.id + "?offset=" + offset;
      return api("PUT", url, file.slice(offset, end), "application/octet-stream")
        .then(function (r) {
          if (r.ok) { offset = r.data.received; tries = 0; return step(); }
          if (r.status === 409 && typeof r.data.received === "number") {
            offset = r.data.received; return step();
          }
          throw new Error(r.data.error || text("refused"));
        }, function () {
          tries += 1;
          if (tries > MAX_TRIES) { throw new Error("offline"); }
          return sleep(Math.min(30000, 500 * Math.pow(2, tries))).then(function () {
            return api("GET", "/uploads/" + upload.id).then(function (r) {
              if (r.ok) { offset = r.data.files[index].received; }
              return step();
            }, step);
          });
        });
    }
    return step();
  }

  function sendAll(files, upload) {
    current = { files: files, upload: upload };
    resumeButton.hidden = true;
    var chain = Promise.resolve();
    var before = 0;
    files.forEach(function (file, index) {
      var base = before;
      chain = chain.then(function () { return sendFile(upload, index, files, base); });
      before += file.size;
    });
    return chain.then(function () {
      showProgress(before, before);
      barText.textContent = text("checking");
      return api("POST", "/uploads/" + upload.id + "/finish");
    }).then(function (r) {
      if (!r.ok) { throw new Error(r.data.error || text("unchecked")); }
      window.localStorage.removeItem(signature(files));
      barText.textContent = r.data.state === "ready" ? text("checked") : text("uploaded");
      (r.data.problems || []).forEach(function (p) { say(p, true); });
      var url = new URL(window.location.href);
      url.searchParams.set("upload", upload.id);
      window.history.replaceState(null, "", url.toString());
      announce(r.data);
    }).catch(function (error) {
      if (error.message === "offline") {
        say(text("offline"), true);
        resumeButton.hidden = false;
      } else {
        say(error.message, true);
      }
    });
  }

  function start(files) {
    clearMessages();
    announce(null);
    var videos = files.filter(function (f) { return f.type.indexOf("video/") === 0; });
    var kind = videos.length ? "video" : "photos";
    var key = signature(files);
    var known = window.localStorage.getItem(key);
    var resume = known
      ? api("GET", "/uploads/" + known).then(function (r) {
          return r.ok && r.data.state === "receiving" ? r.data : null;
        }, function () { return null; })
      : Promise.resolve(null);
    resume.then(function (upload) {
      if (upload) { say(text("continuing")); return upload; }
      var body = JSON.stringify({
        kind: kind,
        files: files.map(function (f) { return { name: f.name, size: f.size, type: f.type }; })
      });
      return api("POST", "/uploads", body, "application/json").then(function (r) {
        if (!r.ok) {
          (r.data.problems || [r.data.error || r.data.detail || text("refused")])
            .forEach(function (p) { say(String(p), true); });
          return null;
        }
        window.localStorage.setItem(key, r.data.id);
        return r.data;
      });
    }).then(function (upload) {
      if (upload) { return sendAll(files, upload); }
    });
  }

  input.addEventListener("change", function () {
    var files = Array.prototype.slice.call(input.files || []);
    if (files.length) { start(files); }
  });
  resumeButton.addEventListener("click", function () {
    if (!current) { return; }
    clearMessages();
    api("GET", "/uploads/" + current.upload.id).then(function (r) {
      if (r.ok) { sendAll(current.files, r.data); }
      else { say(text("cannotResume"), true); resumeButton.hidden = false; }
    }, function () { say(text("stillOffline"), true); resumeButton.hidden = false; });
  });

  if (area.getAttribute("data-upload-state") === "receiving") {
    say(text("interrupted"));
  }
})();
