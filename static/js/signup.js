// Sign-up: suggest the web address from the organization's name, and preset the time zone from the browser's.
// Same rule as tenants.validators.slug_from_name (the server fills an address left empty the same way).
function slugFromName(name) {
  return name.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40).replace(/-+$/, "");
}

// The address is checked when the person leaves its field (or on submit), never from here: a check started
// while they type in that field would answer for a value already gone.
const slugInput = () => document.getElementById("id_organization_slug");
let lastSuggestion = null;

document.addEventListener("input", (event) => {
  const slug = slugInput();
  if (event.target.id !== "id_organization_name" || !slug) return;
  // Suggest until the person types an address of their own; emptying it asks for suggestions again.
  if (slug.value !== "" && slug.value !== lastSuggestion) return;
  lastSuggestion = slugFromName(event.target.value);
  slug.value = lastSuggestion;
});

// An inline check answers with the field's whole block. Take only its verdict (the error and the input's invalid
// marks) and leave the input element alone: replacing it could land while the person already types again, in
// this field or the next (a slow answer, seen under load), put back the value that was checked and move the
// caret or the selection. An answer for a value that has changed since is stale and dropped: the next change
// checks again.
const checkedValues = new WeakMap();

document.addEventListener("htmx:configRequest", (event) => {
  const input = event.detail.elt;
  if (input instanceof HTMLInputElement) checkedValues.set(input, input.value);
});

document.addEventListener("htmx:beforeSwap", (event) => {
  const input = event.detail.requestConfig?.elt;
  const block = event.detail.target;
  if (!(input instanceof HTMLInputElement) || !block?.id?.startsWith("field-")) return;
  event.detail.shouldSwap = false;
  if (event.detail.xhr.status !== 200 || checkedValues.get(input) !== input.value) return;
  const answer = new DOMParser().parseFromString(event.detail.serverResponse, "text/html");
  const checkedInput = answer.getElementById(input.id);
  if (!checkedInput) return;
  for (const name of ["class", "aria-invalid", "aria-describedby"]) {
    const value = checkedInput.getAttribute(name);
    if (value === null) input.removeAttribute(name);
    else input.setAttribute(name, value);
  }
  document.getElementById(`${input.id}_error`)?.remove();
  const error = answer.getElementById(`${input.id}_error`);
  if (error) block.insertBefore(error, document.getElementById(`${input.id}_helptext`));
});

document.addEventListener("DOMContentLoaded", () => {
  const select = document.querySelector("select[data-preset-from-browser]");
  if (!select) return;
  let zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    return;
  }
  if (zone && [...select.options].some((option) => option.value === zone)) select.value = zone;
});
