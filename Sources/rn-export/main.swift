import RNCommandLine
ExportCommand.main()
