// The page's behaviour: the upload (drop zone, progress, results or an error in place),
// bars for the feature charts, and placeholders for dead covers.
// Without script the form posts as a plain form, and every page still works.

function enhance(root) {
  root.querySelectorAll(".bar").forEach((bar) => {
    bar.style.width = `${Math.max(0, Math.min(100, Number(bar.dataset.value)))}%`;
  });
  const broken = (img) => img.closest(".frame").classList.add("broken");
  root.querySelectorAll(".frame img").forEach((img) => {
    if (img.complete && img.naturalWidth === 0) broken(img);
    img.addEventListener("error", () => broken(img));
  });
  const form = root.querySelector("#search-form");
  if (form) uploads(form);
}

function uploads(form) {
  const input = form.querySelector("#file");
  const zone = form.querySelector("#drop-zone");
  const chosen = form.querySelector("#chosen");
  const progress = form.querySelector("#progress");
  const bar = form.querySelector("#upload-progress");
  const what = form.querySelector("#progress-text .what");
  const alert = form.querySelector("#form-error");
  const button = form.querySelector("button[type=submit]");

  const show = () => {
    const file = input.files[0];
    chosen.hidden = !file;
    chosen.textContent = file ? `Chosen: ${file.name} (${(file.size / 1e6).toFixed(1)} MB)` : "";
  };
  input.addEventListener("change", show);
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      show();
    }
  });

  const settle = () => { progress.hidden = true; button.disabled = false; };
  form.addEventListener("submit", (event) => {
    if (!window.XMLHttpRequest || !window.DOMParser) return; // a plain post
    event.preventDefault();
    alert.hidden = true;
    progress.hidden = false;
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    what.textContent = "Uploading…";
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        bar.value = Math.round((100 * e.loaded) / e.total);
        what.textContent = `Uploading… ${bar.value} %`;
      }
    });
    xhr.upload.addEventListener("load", () => {
      bar.hidden = true;
      what.textContent = "Listening to your song and searching the catalogue…";
    });
    xhr.addEventListener("load", () => {
      const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      if (xhr.status === 200) {
        document.title = page.title;
        document.querySelector("main").replaceWith(document.adoptNode(page.querySelector("main")));
        window.scrollTo(0, 0);
        enhance(document.querySelector("main"));
        return;
      }
      // An error: say it in place, and keep the genre and the file chosen.
      settle();
      const found = page.querySelector(".error");
      alert.replaceChildren(...(found ? Array.from(found.childNodes).map((n) => document.adoptNode(n))
        : [document.createTextNode(`The server answered ${xhr.status}. Try again in a minute.`)]));
      alert.dataset.status = String(xhr.status);
      alert.hidden = false;
    });
    xhr.addEventListener("error", () => {
      settle();
      alert.textContent = "The upload did not reach the server: check your connection and send it again.";
      alert.hidden = false;
    });
    xhr.send(new FormData(form));
  });
}

document.addEventListener("DOMContentLoaded", () => enhance(document));
