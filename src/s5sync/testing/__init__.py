"""In-memory fakes of every port, shipped in the package (STYLE.md habit 5)."""
