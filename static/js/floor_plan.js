// The floor plan page. Members: clicking a free spot books it with the form listed beside the plan (the
// booking form's own view); without JavaScript the spot's link opens the prefilled booking form instead.
// Owners and admins: clicking the plan fills the "Place a space" form's x and y (fractions of the plan's
// width and height from its top-left corner) and submits it once a space is chosen.
(function () {
  "use strict";
  const plan = document.querySelector(".floor-plan");
  if (!plan) return;

  plan.addEventListener("click", function (event) {
    const spot = event.target.closest("a.plan-spot-free");
    if (spot) {
      const form = document.getElementById(spot.dataset.book);
      if (form) {
        event.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    if (!plan.hasAttribute("data-placing") || event.target.closest(".plan-spot")) return;
    const placeForm = document.getElementById("place-form");
    if (!placeForm) return;
    const point = plan.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const local = point.matrixTransform(plan.getScreenCTM().inverse());
    const width = Number(plan.dataset.planWidth);
    const height = Number(plan.dataset.planHeight);
    const x = Math.min(1, Math.max(0, local.x / width));
    const y = Math.min(1, Math.max(0, local.y / height));
    placeForm.elements.x.value = x.toFixed(4);
    placeForm.elements.y.value = y.toFixed(4);
    const marker = plan.querySelector(".plan-marker");
    marker.setAttribute("cx", (x * width).toFixed(1));
    marker.setAttribute("cy", (y * height).toFixed(1));
    if (placeForm.elements.space.value) {
      placeForm.requestSubmit();
    } else {
      placeForm.elements.space.focus();
    }
  });
})();
