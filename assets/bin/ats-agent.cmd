@echo off
rem ATS Agent, headless: runs the agent's Node entry with the app's own Electron as Node
rem (ELECTRON_RUN_AS_NODE). electron-builder puts this file in <install>\resources\bin\ (extraResources):
rem   <install>\resources\bin\ats-agent.cmd  ->  <install>\ats-agent.exe + <install>\resources\app.asar
rem All arguments go to the agent; the exit code is the agent's.
setlocal
set "RESOURCES=%~dp0.."
set "ELECTRON=%~dp0..\..\ats-agent.exe"
if defined ATS_AGENT_ELECTRON set "ELECTRON=%ATS_AGENT_ELECTRON%"
set "CLI=%RESOURCES%\app.asar\dist-electron\cli.js"
if not exist "%RESOURCES%\app.asar" set "CLI=%RESOURCES%\app\dist-electron\cli.js"
if not exist "%ELECTRON%" (
  echo ats-agent: cannot find "%ELECTRON%" ^(set ATS_AGENT_ELECTRON^) 1>&2
  exit /b 1
)
set ELECTRON_RUN_AS_NODE=1
"%ELECTRON%" "%CLI%" %*
exit /b %ERRORLEVEL%
