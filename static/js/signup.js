// Sign-up: suggest the web address from the organization's name, and preset the time zone from the browser's.
// Same rule as tenants.validators.slug_from_name (the server fills an address left empty the same way).
function slugFromName(name) {
  return name.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40).replace(/-+$/, "");
}

// htmx swaps the address field's block after its inline check: always look the input up again. The check runs
// when the person leaves the address field (or on submit), never from here: a swap answering a check started
// while they type in that field would put the old value back.
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
