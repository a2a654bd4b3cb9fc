// Progress while an upload is processed, bars for the feature charts, placeholders for dead covers.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("search-form");
  if (form) {
    form.addEventListener("submit", () => {
      document.getElementById("progress").hidden = false;
      form.querySelector("button").disabled = true;
    });
  }
  document.querySelectorAll(".bar").forEach((bar) => {
    bar.style.width = `${Math.max(0, Math.min(100, Number(bar.dataset.value)))}%`;
  });
  const broken = (img) => img.closest(".frame").classList.add("broken");
  document.querySelectorAll(".frame img").forEach((img) => {
    if (img.complete && img.naturalWidth === 0) broken(img);
    img.addEventListener("error", () => broken(img));
  });
});
