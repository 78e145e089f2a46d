# The `yoi` node image: docker build -t yoi .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Yoi.Actors.Host -c Release -o /app

FROM mcr.microsoft.com/dotnet/runtime:10.0
WORKDIR /app
COPY --from=build /app .
COPY hocon/ /app/hocon/
# Remoting (cluster) and the token-protected TCP client endpoint.
EXPOSE 4053 7070
ENTRYPOINT ["dotnet", "/app/yoi.dll"]
CMD ["serve", "--home", "/data"]
