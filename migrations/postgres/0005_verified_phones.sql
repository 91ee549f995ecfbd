-- Numbers Latchkey proved belong to a person (a code texted to the number was typed back) or
-- that an operator vouched for (`latchkey phones mark-verified`, e.g. numbers Gluu Casa
-- verified). Unless policy.trust_unverified_directory_phones is set, only these numbers receive
-- sign-in codes: a value another tool (or the person) wrote into the phone attribute is not a
-- second factor until it is proved. Keyed by the person's stable id and the E.164 number;
-- `method` says how (security_page, sign_in_enrolment, verify, operator).
CREATE TABLE verified_phones (
    user_id TEXT NOT NULL,
    number TEXT NOT NULL,
    verified_at BIGINT NOT NULL,
    method TEXT NOT NULL,
    PRIMARY KEY (user_id, number)
);
