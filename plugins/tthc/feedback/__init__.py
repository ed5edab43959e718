"""Citizens' feedback (phản ánh, kiến nghị) on the procedures: receive, track, answer, publish the answer."""
