// The CLI arrives with the client issue; until then this says so rather than pretend.
Console.Error.WriteLine("securechat: not built yet (see the client issue).");
return 1;
