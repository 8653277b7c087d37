// Sign-up: suggest the web address from the organization's name, and preset the time zone from the browser's.
// Same rule as tenants.validators.slug_from_name (the server fills an address left empty the same way).
function slugFromName(name) {
  return name.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40).replace(/-+$/, "");
}

// htmx swaps the address field's block after an inline check: always look the input up again.
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

document.addEventListener("change", (event) => {
  const slug = slugInput();
  // Leaving the name checks the suggested address at once (the address field's own inline check).
  if (event.target.id === "id_organization_name" && slug && slug.value && slug.value === lastSuggestion) {
    slug.dispatchEvent(new Event("change", { bubbles: true }));
  }
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
