"""`python -m taskflow.cli`, as the tests and the images run the command."""

from taskflow.cli import main

main()
