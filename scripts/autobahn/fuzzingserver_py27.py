# Python 2.7 only: started by run.sh with PYTHONPATH=.autobahn/suite.
#
# Same as `wstest ARGS...`, except that a WebSocket server binds to the host of
# the spec's "url" (127.0.0.1) instead of all interfaces: autobahn 0.10.9's
# listenWS() defaults to interface='' and the suite never passes one.
import sys

from autobahntestsuite import wstest  # must come first: it installs the reactor
from autobahntestsuite import fuzzing

_listenWS = fuzzing.listenWS


def _listenWS_loopback(factory, contextFactory=None, backlog=50, interface=''):
    return _listenWS(factory, contextFactory, backlog, interface or factory.host)


fuzzing.listenWS = _listenWS_loopback

if __name__ == '__main__':
    sys.argv[0] = 'wstest'
    sys.exit(wstest.run())
