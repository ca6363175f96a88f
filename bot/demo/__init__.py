"""`pmo-bot demo`: the bot against a local Slack workspace in the browser, and the fake Slack the tests use."""
