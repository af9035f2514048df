"""The grade in the formats teachers' tools read: one module per format, each one function from
a `Grade` to its file. `grader.report.write_reports` writes them all after every run."""
