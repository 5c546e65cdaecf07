import RNCommandLine
BenchCommand.main()
