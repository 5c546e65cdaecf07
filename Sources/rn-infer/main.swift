import RNCommandLine
InferCommand.main()
