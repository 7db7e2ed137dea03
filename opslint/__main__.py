from opslint.cli import entry

entry()
