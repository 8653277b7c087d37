// Copy buttons: <button data-copy="#input-id"> copies that input's value. No inline script (CSP).
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const input = document.querySelector(button.dataset.copy);
  if (!input) return;
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(input.value);
    button.textContent = "Copied";
  } catch {
    input.select(); // no clipboard access (e.g. plain http): leave it selected for Ctrl+C
    button.textContent = "Press Ctrl+C";
  }
  setTimeout(() => { button.textContent = label; }, 2000);
});
