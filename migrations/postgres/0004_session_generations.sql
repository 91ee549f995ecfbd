-- A person's session generation: every session carries the generation it was signed in (or last
-- confirmed) at, and is refused once this row has moved past it. Raised by an administrator's
-- reset or phone removal, the person removing a phone or turning 2-step sign-in off, and "sign
-- out of all other browsers". No row: generation 0.
CREATE TABLE session_generations (
    user_id TEXT PRIMARY KEY NOT NULL,
    generation BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
