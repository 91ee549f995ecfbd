-- Codes by voice call (issue 21): the demo phone shows calls as their transcripts beside texts.
-- Every row before this was a text.
ALTER TABLE demo_texts ADD COLUMN kind TEXT NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'call'));
