from moderation.cli.main import main

main()
