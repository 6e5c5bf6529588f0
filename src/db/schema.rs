// The portable schema: one definition for both backends (see migrations/sqlite and
// migrations/postgres, which must stay column-for-column identical).

diesel::table! {
    drafts (id) {
        id -> BigInt,
        title -> Text,
        kind -> Text,
        authority -> Text,
        summary -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        premoderation -> Bool,
    }
}

diesel::table! {
    versions (id) {
        id -> BigInt,
        draft_id -> BigInt,
        number -> Integer,
        change_summary -> Text,
        published_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    provisions (id) {
        id -> BigInt,
        version_id -> BigInt,
        key -> Text,
        kind -> Text,
        position -> Integer,
        depth -> Integer,
        label -> Nullable<Text>,
        heading -> Nullable<Text>,
        body -> Text,
    }
}

diesel::table! {
    consultation_rounds (id) {
        id -> BigInt,
        draft_id -> BigInt,
        version_id -> BigInt,
        opens_at -> Timestamp,
        closes_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    draft_transitions (id) {
        id -> BigInt,
        draft_id -> BigInt,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(versions -> drafts (draft_id));
diesel::joinable!(provisions -> versions (version_id));
diesel::joinable!(consultation_rounds -> drafts (draft_id));
diesel::joinable!(draft_transitions -> drafts (draft_id));

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        respondent_type -> Text,
        email_verified_at -> Nullable<Timestamp>,
        is_admin -> Bool,
        blocked_until -> Nullable<Timestamp>,
        blocked_reason -> Nullable<Text>,
        deleted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        key_hash -> Text,
        user_id -> Nullable<BigInt>,
        state -> Text,
        user_agent -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        purpose -> Text,
        token_hash -> Text,
        new_email -> Nullable<Text>,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    working_group_members (id) {
        id -> BigInt,
        draft_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    organizations (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        registration_number -> Text,
        website -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    organization_representatives (id) {
        id -> BigInt,
        organization_id -> BigInt,
        user_id -> BigInt,
        status -> Text,
        position -> Text,
        decision_reason -> Nullable<Text>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Text,
        run_at -> Timestamp,
        attempts -> Integer,
        max_attempts -> Integer,
        last_error -> Nullable<Text>,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        done_at -> Nullable<Timestamp>,
        parked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    rate_limits (bucket) {
        bucket -> Text,
        window_start -> Timestamp,
        hits -> Integer,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        subject -> Text,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(working_group_members -> users (user_id));
diesel::joinable!(working_group_members -> drafts (draft_id));
diesel::joinable!(organization_representatives -> organizations (organization_id));

diesel::table! {
    comments (id) {
        id -> BigInt,
        draft_id -> BigInt,
        version_id -> BigInt,
        provision_key -> Nullable<Text>,
        parent_id -> Nullable<BigInt>,
        root_id -> Nullable<BigInt>,
        path -> Text,
        depth -> Integer,
        author_id -> BigInt,
        organization_id -> Nullable<BigInt>,
        respondent_type -> Text,
        stance -> Text,
        body -> Text,
        body_html -> Text,
        proposed_wording -> Nullable<Text>,
        quote -> Nullable<Text>,
        status -> Text,
        tracking_number -> Text,
        content_hash -> Text,
        endorsement_count -> Integer,
        reply_count -> Integer,
        idempotency_key -> Text,
        created_at -> Timestamp,
        edited_at -> Nullable<Timestamp>,
        withdrawn_at -> Nullable<Timestamp>,
        show_as_participant -> Bool,
        hidden_reason -> Nullable<Text>,
    }
}

diesel::table! {
    comment_revisions (id) {
        id -> BigInt,
        comment_id -> BigInt,
        body -> Text,
        proposed_wording -> Nullable<Text>,
        content_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    endorsements (id) {
        id -> BigInt,
        comment_id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(comment_revisions -> comments (comment_id));
diesel::joinable!(endorsements -> comments (comment_id));
diesel::joinable!(comments -> versions (version_id));
diesel::joinable!(comments -> users (author_id));
diesel::joinable!(comments -> organizations (organization_id));

diesel::table! {
    triage (comment_id) {
        comment_id -> BigInt,
        status -> Text,
        assignee_id -> Nullable<BigInt>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    triage_tags (id) {
        id -> BigInt,
        comment_id -> BigInt,
        tag -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    triage_notes (id) {
        id -> BigInt,
        comment_id -> BigInt,
        author_id -> Nullable<BigInt>,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dispositions (id) {
        id -> BigInt,
        comment_id -> BigInt,
        decision -> Text,
        duplicate_of -> Nullable<BigInt>,
        justification -> Text,
        decided_by -> Nullable<BigInt>,
        decided_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    revision_links (id) {
        id -> BigInt,
        version_id -> BigInt,
        provision_key -> Text,
        comment_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(triage -> comments (comment_id));
diesel::joinable!(triage_tags -> comments (comment_id));
diesel::joinable!(triage_notes -> comments (comment_id));
diesel::joinable!(revision_links -> comments (comment_id));

diesel::table! {
    subscribers (id) {
        id -> BigInt,
        email -> Text,
        user_id -> Nullable<BigInt>,
        confirmed_at -> Nullable<Timestamp>,
        manage_token_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> BigInt,
        subscriber_id -> BigInt,
        kind -> Text,
        target -> Text,
        frequency -> Text,
        confirmed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    digest_runs (id) {
        id -> BigInt,
        subscriber_id -> BigInt,
        period_kind -> Text,
        period_start -> Timestamp,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    notification_events (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        subscriber_id -> BigInt,
        kind -> Text,
        subject -> Text,
        payload -> Text,
        created_at -> Timestamp,
        digest_sent_at -> Nullable<Timestamp>,
        digest_run_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    round_notices (id) {
        id -> BigInt,
        round_id -> BigInt,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(subscriptions -> subscribers (subscriber_id));
diesel::joinable!(notification_events -> subscriptions (subscription_id));

diesel::table! {
    record_chain (id) {
        id -> BigInt,
        seq -> BigInt,
        kind -> Text,
        subject_id -> BigInt,
        content_hash -> Text,
        prev_hash -> Text,
        entry_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    comment_reports (id) {
        id -> BigInt,
        comment_id -> BigInt,
        reporter_id -> BigInt,
        reason -> Text,
        details -> Text,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        resolution -> Nullable<Text>,
    }
}

diesel::table! {
    moderation_actions (id) {
        id -> BigInt,
        comment_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(comment_reports -> comments (comment_id));
diesel::joinable!(moderation_actions -> comments (comment_id));

diesel::allow_tables_to_appear_in_same_query!(
    drafts,
    versions,
    provisions,
    consultation_rounds,
    draft_transitions,
    users,
    sessions,
    email_tokens,
    working_group_members,
    organizations,
    organization_representatives,
    jobs,
    rate_limits,
    audit_log,
    comments,
    comment_revisions,
    endorsements,
    triage,
    triage_tags,
    triage_notes,
    dispositions,
    revision_links,
    subscribers,
    subscriptions,
    digest_runs,
    notification_events,
    round_notices,
    record_chain,
    comment_reports,
    moderation_actions,
);
