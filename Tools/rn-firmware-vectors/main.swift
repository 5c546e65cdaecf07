import RNCommandLine
FirmwareVectorsCommand.main()
