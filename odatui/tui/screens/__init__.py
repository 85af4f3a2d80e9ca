"""One module per wizard screen, in order: welcome, okta, ws1, rollout, review, run, done; plus modals."""
