// Every page type the audit visits: one row per page. `as` is who looks at it (anon,
// citizen, member, admin); `path(s)` gives its address from the state the journey and the
// audit setup left (`s`), and may be async (for links that arrive by email). `form` names a
// form to submit as it is (after clearing `clear`) so that the page is audited showing its
// errors. To add a page, add a row.


export const PAGES = [
  // Public reading
  { name: 'home', as: 'anon', path: () => '/' },
  { name: 'drafts-list', as: 'anon', path: () => '/drafts' },
  { name: 'drafts-list-filtered', as: 'anon', path: () => '/drafts?q=water&kind=law' },
  { name: 'draft', as: 'anon', path: (s) => `/drafts/${s.draftId}` },
  { name: 'draft-version', as: 'anon', path: (s) => `/drafts/${s.draftId}/versions/1` },
  { name: 'provision-thread', as: 'anon', path: (s) => s.provisionPath },
  { name: 'provision-thread-signed-in', as: 'citizen', path: (s) => s.provisionPath },
  { name: 'draft-discussion', as: 'citizen', path: (s) => `/drafts/${s.draftId}/discussion` },
  { name: 'comment-permalink', as: 'anon', path: (s) => s.commentUrl },
  { name: 'receipt', as: 'anon', path: (s) => s.comment.receiptUrl },
  { name: 'comparison-table', as: 'anon', path: (s) => `/drafts/${s.draftId}/compare/1/2` },
  { name: 'comparison-print', as: 'anon', path: (s) => `/drafts/${s.draftId}/compare/1/2?print=1` },
  { name: 'report', as: 'anon', path: (s) => `/drafts/${s.draftId}/versions/1/report` },
  { name: 'public-record', as: 'anon', path: () => '/record' },
  { name: 'organizations', as: 'anon', path: () => '/organizations' },
  { name: 'organization', as: 'anon', path: (s) => s.organizationPath },
  { name: 'privacy', as: 'anon', path: () => '/privacy' },
  { name: 'not-found', as: 'anon', path: () => '/drafts/999999', status: 404 },

  // Forms, each also shown with its errors
  { name: 'register', as: 'anon', path: () => '/register', form: 'form[action="/register"]' },
  { name: 'verify', as: 'anon', path: (s) => s.verifyUrl },
  { name: 'login', as: 'anon', path: () => '/login', form: 'form[action="/login"]' },
  { name: 'forgot-password', as: 'anon', path: () => '/password/forgot', form: 'form[action="/password/forgot"]' },
  {
    name: 'reset-password',
    as: 'anon',
    path: (s) => s.resetUrl,
    form: 'form[action="/password/reset"]',
  },
  { name: 'comment-form', as: 'citizen', path: (s) => s.openProvisionPath, form: '#comment-form' },
  { name: 'reply-form', as: 'citizen', path: (s) => `/comments/${s.openNeighbourCommentId}`, form: '#comment-form' },
  { name: 'comment-edit', as: 'citizen', path: (s) => `${s.commentUrl}/edit`, form: 'main form[method="post"]', clear: ['#f-body'] },
  { name: 'subscribe', as: 'anon', path: (s) => `/subscribe?kind=draft&target=${s.draftId}`, form: 'form[action="/subscribe"]' },
  { name: 'subscription-confirm', as: 'anon', path: (s) => s.confirmUrl },
  { name: 'subscription-manage', as: 'anon', path: (s) => s.manageUrl },
  { name: 'unsubscribe', as: 'anon', path: (s) => s.unsubscribeUrl },

  // Account
  { name: 'account', as: 'citizen', path: () => '/account', form: 'form[action="/account"]', clear: ['#f-display_name'] },
  { name: 'account-email', as: 'citizen', path: () => '/account/email', form: 'form[action="/account/email"]' },
  { name: 'account-password', as: 'citizen', path: () => '/account/password', form: 'form[action="/account/password"]' },
  { name: 'account-sessions', as: 'citizen', path: () => '/account/sessions' },
  { name: 'account-delete', as: 'citizen', path: () => '/account/delete', form: 'form[action="/account/delete"]' },
  { name: 'account-organizations', as: 'citizen', path: () => '/account/organizations', form: 'form[method="post"][action="/account/organizations"]' },
  { name: 'account-subscriptions', as: 'citizen', path: () => '/account/subscriptions' },
  { name: 'account-email-confirm', as: 'citizen', path: (s) => s.emailConfirmUrl },

  // Working group
  { name: 'triage-queue', as: 'member', path: (s) => `/drafts/${s.draftId}/triage` },
  { name: 'triage-queue-filtered', as: 'member', path: (s) => `/drafts/${s.draftId}/triage?status=decided&q=tap` },
  {
    name: 'triage-comment',
    as: 'member',
    path: (s) => `/drafts/${s.auditDraftId}/triage/comments/${s.auditCommentId}`,
    form: 'form[action$="/disposition"]',
  },
  { name: 'campaigns', as: 'member', path: (s) => `/drafts/${s.draftId}/triage/campaigns` },
  { name: 'revision-overview', as: 'member', path: (s) => `/drafts/${s.auditDraftId}/revision`, form: 'form[action$="/revision/publish"]' },
  {
    name: 'revision-provision',
    as: 'member',
    path: (s) => `/drafts/${s.auditDraftId}/revision/provisions/${s.auditParagraphKey}`,
    form: 'form[action$="/link"]:not(.inline-form)',
  },
  { name: 'moderation-queue-empty', as: 'member', path: (s) => `/drafts/${s.draftId}/moderation` },
  {
    name: 'moderation-queue',
    as: 'admin',
    path: (s) => `/drafts/${s.openDraftId}/moderation`,
    form: 'form.moderation-action',
  },
  {
    name: 'report-comment',
    as: 'admin',
    path: (s) => `/comments/${s.openNeighbourCommentId}/report`,
    form: 'form[action$="/report"]',
  },
  { name: 'revision-add', as: 'member', path: (s) => `/drafts/${s.auditDraftId}/revision/add`, form: 'main form[method="post"]' },

  // Administration
  { name: 'admin-dashboard', as: 'admin', path: () => '/admin' },
  { name: 'admin-users', as: 'admin', path: () => '/admin/users?q=citizen' },
  { name: 'admin-user', as: 'admin', path: (s) => `/admin/users/${s.citizenUserId}` },
  { name: 'admin-drafts', as: 'admin', path: () => '/admin/drafts' },
  { name: 'admin-draft-new', as: 'admin', path: () => '/admin/drafts/new', form: 'form[action="/admin/drafts/new"]' },
  { name: 'admin-draft', as: 'admin', path: (s) => `/admin/drafts/${s.draftId}`, form: 'form[action$="/transition"]' },
  { name: 'admin-group', as: 'admin', path: (s) => `/admin/drafts/${s.draftId}/group`, form: 'form[action$="/group/add"]' },
  { name: 'admin-activity', as: 'admin', path: (s) => `/admin/drafts/${s.draftId}/activity` },
  { name: 'admin-organizations', as: 'admin', path: () => '/admin/organizations' },
  { name: 'admin-organization-request', as: 'admin', path: (s) => s.orgRequestPath },
  { name: 'admin-jobs', as: 'admin', path: () => '/admin/jobs' },
];
