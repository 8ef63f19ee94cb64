-- More kinds of alert channel; see the SQLite migration of the same number.
ALTER TABLE alert_channels DROP CONSTRAINT alert_channels_kind_check;
ALTER TABLE alert_channels ADD CONSTRAINT alert_channels_kind_check
    CHECK (kind IN ('email', 'slack', 'webhook', 'discord', 'teams', 'mattermost', 'rocketchat', 'googlechat', 'ntfy'));
