-- The demo sender's data: a small blog with the kinds of values transfers must carry exactly
-- (timestamps with offsets, exact decimals, JSON, booleans, NULLs, foreign keys).
CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    email        TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    bio          TEXT,
    balance      NUMERIC(12, 2) NOT NULL DEFAULT 0,
    is_active    BOOLEAN NOT NULL DEFAULT 1,
    profile      JSON,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE posts (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    title        VARCHAR(200) NOT NULL,
    body         TEXT NOT NULL,
    rating       DOUBLE PRECISION,
    metadata     JSON,
    published_at TIMESTAMP WITH TIME ZONE
);
CREATE INDEX posts_user_id ON posts (user_id);

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY,
    post_id    INTEGER NOT NULL REFERENCES posts (id),
    user_id    INTEGER REFERENCES users (id),
    body       TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX comments_post_id ON comments (post_id);

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
INSERT INTO users (id, email, display_name, bio, balance, is_active, profile, created_at)
SELECT i,
       'user' || i || '@example.com',
       CASE i % 5 WHEN 0 THEN 'Zoë ' || i WHEN 1 THEN 'O''Brien ' || i ELSE 'User ' || i END,
       CASE WHEN i % 4 = 0 THEN NULL ELSE 'Writes about topic ' || (i % 7) || '.' END,
       printf('%.2f', i * 13.37 - 100),
       i % 7 <> 0,
       CASE WHEN i % 6 = 0 THEN NULL
            ELSE json_object('theme', CASE i % 2 WHEN 0 THEN 'dark' ELSE 'light' END,
                             'langs', json_array('en', CASE i % 3 WHEN 0 THEN 'de' ELSE 'fr' END)) END,
       strftime('%Y-%m-%dT%H:%M:%S', '2025-01-01 08:00:00', '+' || (i * 3) || ' days', '+' || (i * 17) || ' minutes')
         || CASE i % 3 WHEN 0 THEN '+00:00' WHEN 1 THEN '+02:00' ELSE '-05:30' END
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO posts (id, user_id, title, body, rating, metadata, published_at)
SELECT i,
       1 + (i * 7) % 50,
       'Post number ' || i,
       'Body of post ' || i || char(10) || 'Second line with a tab' || char(9) || 'and a quote " here.',
       CASE WHEN i % 9 = 0 THEN NULL ELSE round(((i * 37) % 500) / 100.0, 2) END,
       json_object('words', 100 + i * 3, 'draft', json(CASE WHEN i % 10 = 0 THEN 'true' ELSE 'false' END)),
       CASE WHEN i % 10 = 0 THEN NULL
            ELSE strftime('%Y-%m-%dT%H:%M:%f', '2025-06-01', '+' || i || ' hours') || '+00:00' END
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
INSERT INTO comments (id, post_id, user_id, body, created_at)
SELECT i,
       1 + (i * 13) % 200,
       CASE WHEN i % 11 = 0 THEN NULL ELSE 1 + (i * 3) % 50 END,
       CASE i % 4 WHEN 0 THEN 'Great post! 👍' WHEN 1 THEN 'I disagree.' WHEN 2 THEN '' ELSE 'Thanks — very useful' END,
       strftime('%Y-%m-%dT%H:%M:%S', '2025-07-01', '+' || (i * 37) || ' minutes') || '+00:00'
FROM n;
