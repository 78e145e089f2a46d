# The `yoi` node image: docker build -t yoi .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Yoi.Actors.Host -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
COPY hocon/ /app/hocon/
# Remoting (cluster), the token-protected TCP client endpoint and the HTTP server (probes, /metrics).
EXPOSE 4053 7070 8080
# Ready = member Up, `worker` region registered, journal and snapshot store reachable (`yoi health` asks /readyz;
# the probes need no token). A node serves HTTP with `--http`; the default command below and docker-compose.yml do.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["dotnet", "/app/yoi.dll", "health", "--http", "127.0.0.1:8080"]
ENTRYPOINT ["dotnet", "/app/yoi.dll"]
CMD ["serve", "--home", "/data", "--http", "0.0.0.0:8080"]
