using DistillSharp.Cli;

return CliApp.Run(args);
