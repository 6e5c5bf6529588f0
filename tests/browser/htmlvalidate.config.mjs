// html-validate's rules for every page Talqy serves. A rule is turned off only with the
// reason written next to it.
export default {
  extends: ['html-validate:recommended'],
  rules: {
    // Askama leaves the indentation and line breaks of its control tags ({% if %}, {% for %})
    // in the output. Trailing spaces are not an HTML error, change nothing in rendering, and
    // stripping them would mean rewriting every template's whitespace control.
    'no-trailing-whitespace': 'off',
    // Provision anchors are their public keys (`#ch1.art1.p2`), linked from comments, emails
    // and other sites, so they keep their dots. Dots are valid in HTML ids; "relaxed" checks
    // exactly what HTML requires (not empty, no whitespace).
    'valid-id': ['error', { relaxed: true }],
    // The triage queue selects comments with one checkbox per row, all named "ids": a
    // checkbox group sharing a name is how HTML submits a list. Radios and buttons were
    // already allowed to share names; checkboxes join them.
    'form-dup-name': ['error', { shared: ['radio', 'checkbox', 'button', 'reset', 'submit'] }],
    // Titles name the draft, whose official title may be up to 300 characters; cutting it
    // would make tabs and history entries of different drafts look the same.
    'long-title': 'off',
  },
};
