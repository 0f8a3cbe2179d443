-- Customer segment by channel profile over their whole history (interactions, not brand
-- pushes): omnichannel (two or more channels), store (stores only), online (web and app
-- only), other. The segment filter and breakdown read it.
ALTER TABLE customers ADD COLUMN segment VARCHAR;
