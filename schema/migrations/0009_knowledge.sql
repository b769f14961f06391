-- Knowledge base (知识库). An article is a ticket of a knowledge flow
-- (flows/kb_article.yaml): drafting, review and archiving are that flow's
-- states and actions, so the ticket's fields are the working copy an
-- editor changes. What readers are served is the published copy here,
-- written by the flow's knowledge.publish call in the same transaction as
-- the approving action; a revision under review leaves it untouched.
CREATE TABLE kb_articles (
    ticket_id      bigint PRIMARY KEY REFERENCES tickets (id),
    version        int NOT NULL,
    state          text NOT NULL CHECK (state IN ('published', 'archived')),
    unit_id        bigint REFERENCES units (id),
    title          text NOT NULL,
    keywords       text[] NOT NULL DEFAULT '{}',
    fields         jsonb NOT NULL,
    effective_from date,
    expires_at     date,
    published_at   timestamptz NOT NULL,
    published_by   text NOT NULL,
    clicks         bigint NOT NULL DEFAULT 0,
    rating_sum     double precision NOT NULL DEFAULT 0,
    rating_count   int NOT NULL DEFAULT 0,
    -- Every change takes the next number, so each node's search index
    -- catches up with what it has not seen, in order.
    change_seq     bigint NOT NULL
);
CREATE SEQUENCE kb_change_seq;
CREATE INDEX kb_articles_change ON kb_articles (change_seq);

-- Every published version, for history and diff.
CREATE TABLE kb_versions (
    ticket_id    bigint NOT NULL REFERENCES tickets (id),
    version      int NOT NULL,
    fields       jsonb NOT NULL,
    note         text NOT NULL DEFAULT '',
    published_by text NOT NULL,
    published_at timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, version)
);

-- Clicks per article and day: hot ranking (热点排行) over any window.
CREATE TABLE kb_clicks (
    ticket_id bigint NOT NULL REFERENCES tickets (id),
    day       date NOT NULL,
    clicks    int NOT NULL,
    PRIMARY KEY (ticket_id, day)
);
CREATE INDEX kb_clicks_day ON kb_clicks (day);

-- Readers' ratings (one per reader and article, changed by rating again):
-- the criteria's values as the rating form (forms/kb-rating.yaml) checked
-- them, and their mean. kb_articles keeps the sum and count.
CREATE TABLE kb_ratings (
    ticket_id bigint NOT NULL REFERENCES tickets (id),
    user_id   bigint NOT NULL REFERENCES users (id),
    score     double precision NOT NULL CHECK (score > 0),
    input     jsonb NOT NULL,
    rated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, user_id)
);

-- Personal favourites (收藏夹) in folders of any depth.
CREATE TABLE kb_folders (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id   bigint NOT NULL REFERENCES users (id),
    parent_id bigint REFERENCES kb_folders (id) ON DELETE CASCADE,
    name      text NOT NULL CHECK (name <> '')
);
CREATE UNIQUE INDEX kb_folders_name ON kb_folders (user_id, COALESCE(parent_id, 0), name);

CREATE TABLE kb_favorites (
    user_id   bigint NOT NULL REFERENCES users (id),
    ticket_id bigint NOT NULL REFERENCES tickets (id),
    -- A deleted folder's favourites go back to the top.
    folder_id bigint REFERENCES kb_folders (id) ON DELETE SET NULL,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, ticket_id)
);

-- Articles cited in tickets (a direct answer, 直接答复 citing the knowledge
-- base): which version the agent answered from.
CREATE TABLE kb_citations (
    ticket_id  bigint NOT NULL REFERENCES tickets (id),
    article_id bigint NOT NULL REFERENCES tickets (id),
    version    int NOT NULL,
    cited_by   text NOT NULL,
    cited_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, article_id)
);
CREATE INDEX kb_citations_article ON kb_citations (article_id);

-- The files of published articles: any reader may download them, and their
-- text is searched where it can be read (kb_attachment_text says whether
-- it could).
CREATE TABLE kb_attachments (
    ticket_id     bigint NOT NULL REFERENCES tickets (id),
    attachment_id text NOT NULL REFERENCES attachments (id),
    PRIMARY KEY (ticket_id, attachment_id)
);
CREATE INDEX kb_attachments_attachment ON kb_attachments (attachment_id);
CREATE TABLE kb_attachment_text (
    attachment_id text PRIMARY KEY REFERENCES attachments (id),
    extracted     boolean NOT NULL,
    text          text NOT NULL DEFAULT '',
    reason        text NOT NULL DEFAULT ''
);
