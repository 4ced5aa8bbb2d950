/** A blackberry (a bramble's fruit): the favicon and the header's mark. */
export const BERRY_SVG_BODY =
  '<path d="M32 17C27 7 16 7 11 12c8-1 14 1 21 7z" fill="#4ade80"/>' +
  '<path d="M32 17c5-10 16-10 21-5-8-1-14 1-21 7z" fill="#22c55e"/>' +
  '<path d="M31 19c0-6 1-11 3-15" stroke="#16a34a" stroke-width="3" fill="none" stroke-linecap="round"/>' +
  '<g fill="#7c3aed" stroke="#2e1065" stroke-width="1.6">' +
  '<circle cx="24" cy="26" r="6"/><circle cx="32" cy="25" r="6"/><circle cx="40" cy="26" r="6"/>' +
  '<circle cx="20" cy="35" r="6"/><circle cx="28" cy="34" r="6"/><circle cx="36" cy="34" r="6"/><circle cx="44" cy="35" r="6"/>' +
  '<circle cx="23" cy="44" r="6"/><circle cx="31" cy="43" r="6"/><circle cx="39" cy="44" r="6"/>' +
  '<circle cx="27" cy="52" r="6"/><circle cx="35" cy="52" r="6"/><circle cx="31" cy="59" r="5"/>' +
  '</g>' +
  '<g fill="#ddd6fe" opacity=".75"><circle cx="22" cy="24" r="1.6"/><circle cx="30" cy="23" r="1.6"/><circle cx="18" cy="33" r="1.6"/><circle cx="26" cy="32" r="1.6"/><circle cx="21" cy="42" r="1.6"/><circle cx="29" cy="41" r="1.6"/><circle cx="25" cy="50" r="1.6"/></g>';

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">${BERRY_SVG_BODY}</svg>\n`;
