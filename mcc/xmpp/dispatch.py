# -*- test-case-name: tests.test_xmpp_dispatch -*-
"""
The in-memory streams between the router and the server's handler
collections, with a dispatcher that does not try every handler's XPath
query on every stanza.

Each collection has a dozen handlers and some thirty queries; a message
only concerns the few that begin C{/message} (or C{/*}).  Which queries
could match is kept per element name, so a stanza is matched against those
alone, in the same order, with the same results.
"""

from twisted.application import service
from twisted.words.xish import domish, utility, xpath
from wokkel.component import InternalComponent


def _may_match(query, name):
    """
    Whether C{query} could match an element called C{name}: unless its
    first step names another element.
    """
    location = getattr(query, "baseLocation", None)
    if not isinstance(location, xpath._Location):  # // and the like: anything.
        return True
    return location.elementName is None or location.elementName == name


class ElementDispatcher(utility.EventDispatcher):
    """
    An L{utility.EventDispatcher} whose XPath observers are tried only on
    the elements whose name their query's first step allows.
    """

    def __init__(self, eventprefix="//event/"):
        utility.EventDispatcher.__init__(self, eventprefix)
        self._by_name = {}

    def _addObserver(self, onetime, event, observerfn, priority, *args, **kwargs):
        self._by_name.clear()
        utility.EventDispatcher._addObserver(
            self, onetime, event, observerfn, priority, *args, **kwargs
        )

    def removeObserver(self, event, observerfn):
        self._by_name.clear()
        utility.EventDispatcher.removeObserver(self, event, observerfn)

    def _observers_for(self, name):
        """
        C{(priority, query, callbacks)} of the XPath observers that could
        match an element called C{name}, highest priority first.
        """
        found = self._by_name.get(name)
        if found is None:
            found = self._by_name[name] = [
                (priority, query, callbacks)
                for priority in sorted(self._xpathObservers, reverse=True)
                for query, callbacks in self._xpathObservers[priority].items()
                if _may_match(query, name)
            ]
        return found

    def dispatch(self, obj, event=None):
        if event is not None or not isinstance(obj, domish.Element):
            return utility.EventDispatcher.dispatch(self, obj, event)
        found = False
        emptied = []
        self._dispatchDepth += 1
        for priority, query, callbacks in self._observers_for(obj.name):
            if query.matches(obj):
                callbacks.callback(obj)
                found = True
                if callbacks.isEmpty():
                    emptied.append((priority, query))
        for priority, query in emptied:
            self._xpathObservers[priority].pop(query, None)
        if emptied:
            self._by_name.clear()
        self._dispatchDepth -= 1
        if self._dispatchDepth == 0:
            # Observers added or removed meanwhile, as EventDispatcher does.
            queued, self._updateQueue = self._updateQueue, []
            for update in queued:
                update()
        return found


class ElementPipe:
    """
    Two connected in-memory streams, as L{wokkel.generic.XmlPipe}: what one
    sends the other dispatches; the source's end, where the handlers
    observe, is an L{ElementDispatcher}.
    """

    def __init__(self):
        self.source = ElementDispatcher()
        self.sink = utility.EventDispatcher()
        self.source.send = self.sink.dispatch
        self.sink.send = self.source.dispatch


class HandlerCollection(InternalComponent):
    """
    An L{InternalComponent} whose handlers observe an L{ElementPipe}.
    """

    def startService(self):
        service.Service.startService(self)
        self._pipe = ElementPipe()
        self.xmlstream = self._pipe.source
        for destination in self.domains:
            self._router.addRoute(destination, self._pipe.sink)
        for handler in self:
            handler.makeConnection(self.xmlstream)
            handler.connectionInitialized()
