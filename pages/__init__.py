"""The pages people read in a browser, in their own language: sign-in, each role's pages, and the analysts'
dashboard (whose script reads the JSON API with the pages' session)."""
