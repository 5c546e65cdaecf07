import RNCommandLine
DriftCommand.main()
