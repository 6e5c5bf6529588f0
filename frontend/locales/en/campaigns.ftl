campaigns-heading = Campaigns: { $title }
campaigns-draft = Draft
campaigns-triage = Triage
campaigns-lead = Comments with nearly the same text — form letters, mass campaigns — are grouped here, so that one decision can answer a whole group.
campaigns-rule = Comments are grouped when about { $percent }% or more of their wording matches; a campaign has at least { $min } comments. Replies and withdrawn comments are not counted.
campaigns-count = { $count ->
    [0] No campaigns among the published comments.
    [one] 1 campaign
   *[other] { $count } campaigns
}
campaign-heading = Campaign { $number }
campaign-size = Comments
campaign-sample = Sample text
campaign-answer = { $count ->
    [one] Answer this comment in the triage queue
   *[other] Answer these { $count } comments together in the triage queue
}
campaign-show-members = { $count ->
    [one] Show the comment
   *[other] Show all { $count } comments
}
