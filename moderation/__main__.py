from moderation.cli import main

main()
