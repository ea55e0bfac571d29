#!/usr/bin/python3
"""tests/xds/crash_driver.py -- the client side of tests/crash_iti41.sh.

Starts the node (hie-node -c NODE_INI), submits documents one by one with
ITI-41 (each a small distinct C-CDA-like document with a unique uniqueId,
signed by the project's own `hie-node soap sign` with the client's
certificate), kill -9s the node after a random 1-3 s, restarts it on the
same data dir and checks:
  - every document whose rs:RegistryResponse said Success is retrievable
    (GET /api/documents/{home}/{repo}/{uid}) with the bytes sent (SHA-1);
  - nothing is half-stored: a signed ITI-18 FindDocuments for the patient
    lists exactly the documents whose bytes are retrievable, each of them
    one the client sent.
Stdlib only.  Exit 0 when every round holds, 1 otherwise.

  crash_driver.py BIN NODE_DIR CLIENT_INI HTTP_ADDR COMMUNITY REPO_ID ROUNDS
"""
import base64
import hashlib
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

BIN, NODE_DIR, CLIENT_INI, HTTP, COMMUNITY, REPO_ID, ROUNDS = sys.argv[1:8]
ROUNDS = int(ROUNDS)
HIE_NODE = os.path.join(BIN, "node", "hie-node")
NODE_INI = os.path.join(NODE_DIR, "hie-node.ini")
LOG = NODE_DIR + ".log"
PID_OID = "1.3.6.1.4.1.21367.13.20.2000"
PATIENT = "CRASH-%d^^^&%s&ISO" % (os.getpid(), PID_OID)
RUN = "%d%d" % (int(time.time()), os.getpid())  # uniqueIds unique across runs

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "rs": "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0",
    "rim": "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0",
    "query": "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0",
}
UID_SCHEME = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")


def slot(name, value):
    return '<rim:Slot name="%s"><rim:ValueList><rim:Value>%s</rim:Value></rim:ValueList></rim:Slot>' % (name, esc(value))


def cls(scheme, obj, code, coding, display):
    return ('<rim:Classification classificationScheme="%s" classifiedObject="%s" id="cl-%s" nodeRepresentation="%s">'
            '%s<rim:Name><rim:LocalizedString value="%s"/></rim:Name></rim:Classification>'
            % (scheme, obj, uuid.uuid4(), esc(code), slot("codingScheme", coding), esc(display)))


def extid(scheme, obj, value, name):
    return ('<rim:ExternalIdentifier id="ei-%s" identificationScheme="%s" registryObject="%s" value="%s">'
            '<rim:Name><rim:LocalizedString value="%s"/></rim:Name></rim:ExternalIdentifier>'
            % (uuid.uuid4(), scheme, obj, esc(value), name))


def envelope(action, body):
    return ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">'
            '<s:Header><a:Action s:mustUnderstand="1">%s</a:Action><a:MessageID>urn:uuid:%s</a:MessageID></s:Header>'
            '<s:Body>%s</s:Body></s:Envelope>' % (action, uuid.uuid4(), body))


def ccda(n, uid):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ClinicalDocument xmlns="urn:hl7-org:v3"><realmCode code="US"/>'
            '<templateId root="2.16.840.1.113883.10.20.22.1.2" extension="2015-08-01"/>'
            '<id root="%s"/><code code="34133-9" codeSystem="2.16.840.1.113883.6.1" displayName="Summarization of Episode Note"/>'
            '<title>Crash test document %d</title><effectiveTime value="20261125120000+0000"/>'
            '<confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>'
            '<recordTarget><patientRole><id extension="%s" root="%s"/></patientRole></recordTarget>'
            '<component><structuredBody><component><section><text>note %d, nonce %s</text></section></component>'
            '</structuredBody></component></ClinicalDocument>\n'
            % (uid, n, PATIENT.split("^")[0], PID_OID, n, uuid.uuid4())).encode()


def pnr(n):
    """An ITI-41 request for document n: (envelope, uniqueId, bytes)."""
    uid = "2.25.%s.%d" % (RUN, n)
    doc = ccda(n, uid)
    ts = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    eo = ('<rim:ExtrinsicObject id="Document01" mimeType="text/xml" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">'
          + slot("creationTime", ts) + slot("languageCode", "en-US") + slot("sourcePatientId", PATIENT)
          + '<rim:Name><rim:LocalizedString value="Crash test document %d"/></rim:Name>' % n
          + cls("urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a", "Document01", "34133-9", "2.16.840.1.113883.6.1", "Summarization of Episode Note")
          + cls("urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f", "Document01", "N", "2.16.840.1.113883.5.25", "Normal")
          + cls("urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d", "Document01", "urn:hl7-org:sdwg:ccda-structuredBody:2.1", "1.3.6.1.4.1.19376.1.2.3", "C-CDA 2.1")
          + cls("urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1", "Document01", "Outpatient", "Connect-a-thon healthcareFacilityTypeCodes", "Outpatient")
          + cls("urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead", "Document01", "394802001", "2.16.840.1.113883.6.96", "General Medicine")
          + cls("urn:uuid:f0306f51-975f-434e-a61c-c59651d33983", "Document01", "34133-9", "2.16.840.1.113883.6.1", "Summarization of Episode Note")
          + extid(UID_SCHEME, "Document01", uid, "XDSDocumentEntry.uniqueId")
          + extid("urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427", "Document01", PATIENT, "XDSDocumentEntry.patientId")
          + '</rim:ExtrinsicObject>')
    ss = ('<rim:RegistryPackage id="SubmissionSet01" objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage">'
          + slot("submissionTime", ts)
          + cls("urn:uuid:aa543740-bdda-424e-8c96-df4873be8500", "SubmissionSet01", "34133-9", "2.16.840.1.113883.6.1", "Summarization of Episode Note")
          + extid("urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8", "SubmissionSet01", "2.25.%s.%d.1" % (RUN, n), "XDSSubmissionSet.uniqueId")
          + extid("urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832", "SubmissionSet01", "1.3.6.1.4.1.21367.13.20.4000", "XDSSubmissionSet.sourceId")
          + extid("urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446", "SubmissionSet01", PATIENT, "XDSSubmissionSet.patientId")
          + '</rim:RegistryPackage>'
          + '<rim:Classification id="cl-ss" classifiedObject="SubmissionSet01" classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"/>'
          + '<rim:Association id="as01" associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember" '
            'sourceObject="SubmissionSet01" targetObject="Document01">' + slot("SubmissionSetStatus", "Original") + '</rim:Association>')
    body = ('<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007">'
            '<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0">'
            '<rim:RegistryObjectList xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">%s%s</rim:RegistryObjectList>'
            '</lcm:SubmitObjectsRequest><xdsb:Document id="Document01">%s</xdsb:Document>'
            '</xdsb:ProvideAndRegisterDocumentSetRequest>' % (eo, ss, base64.b64encode(doc).decode()))
    return envelope("urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b", body), uid, doc


def find_documents():
    body = ('<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" '
            'xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><query:ResponseOption returnType="LeafClass"/>'
            '<rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">'
            + slot("$XDSDocumentEntryPatientId", "'%s'" % PATIENT)
            + slot("$XDSDocumentEntryStatus", "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')")
            + '</rim:AdhocQuery></query:AdhocQueryRequest>')
    return envelope("urn:ihe:iti:2007:RegistryStoredQuery", body)


def sign(xml):
    """Signs with the project's own signer, as the client member."""
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
        f.write(xml)
    try:
        r = subprocess.run([HIE_NODE, "soap", "sign", "-c", CLIENT_INI, "--audience", COMMUNITY,
                            "--user", "crash-test", f.name], capture_output=True, check=True)
    finally:
        os.unlink(f.name)
    return r.stdout


def post(path, data, timeout=10):
    req = urllib.request.Request("http://%s%s" % (HTTP, path), data=data,
                                 headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get(path, timeout=10):
    try:
        with urllib.request.urlopen("http://%s%s" % (HTTP, path), timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


node = None


def start_node():
    global node
    log = open(LOG, "ab")
    node = subprocess.Popen([HIE_NODE, "-c", NODE_INI], stdout=log, stderr=log)
    for _ in range(200):
        try:
            if get("/health", 1)[0] in (200, 503):
                return
        except OSError:
            pass
        if node.poll() is not None:
            sys.exit("node failed to start, see %s" % LOG)
        time.sleep(0.05)
    sys.exit("node did not answer /health")


class Signer:
    """Two threads sign requests ahead of the submitter (bounded queue)."""

    def __init__(self):
        self.q = queue.Queue(maxsize=32)
        self.n = 0
        self.lock = threading.Lock()
        self.stop = False
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(2)]
        for t in self.threads:
            t.start()

    def run(self):
        while not self.stop:
            with self.lock:
                self.n += 1
                n = self.n
            xml, uid, doc = pnr(n)
            item = (sign(xml), uid, doc)
            while not self.stop:
                try:
                    self.q.put(item, timeout=0.2)
                    break
                except queue.Full:
                    pass


sent = {}       # uniqueId -> sha1 of every document ever sent (acknowledged or not)
acked = set()   # uniqueIds whose response was RegistryResponse Success
unanswered = set()  # stored, though the client never got the answer
failures = []


def submit_until(deadline, signer, stats):
    while time.monotonic() < deadline:
        try:
            signed, uid, doc = signer.q.get(timeout=0.5)
        except queue.Empty:
            continue
        sent[uid] = hashlib.sha1(doc).hexdigest()
        try:
            code, resp = post("/xds/iti41", signed, timeout=5)
        except OSError:  # the node died under us: expected
            stats["errors"] += 1
            return
        try:
            root = ET.fromstring(resp)
            rr = root.find(".//rs:RegistryResponse", NS)
        except ET.ParseError:
            rr = None
        if code == 200 and rr is not None and rr.get("status", "").endswith(":Success"):
            acked.add(uid)
            stats["acked"] += 1
        else:
            stats["refused"] += 1
            if stats["refused"] <= 3:
                print("     submission %s refused: HTTP %d %s" % (uid, code, resp[:600]))


def check(rnd):
    """After a restart: acknowledged documents retrievable, nothing half-stored."""
    ok = True
    code, resp = post("/xds/iti18", sign(find_documents()))
    root = ET.fromstring(resp)
    aq = root.find(".//query:AdhocQueryResponse", NS)
    if code != 200 or aq is None or not aq.get("status", "").endswith(":Success"):
        failures.append("round %d: ITI-18 FindDocuments failed: HTTP %d %s" % (rnd, code, resp[:600]))
        return False
    listed = set()
    for eo in aq.iter("{%s}ExtrinsicObject" % NS["rim"]):
        for ei in eo.findall("rim:ExternalIdentifier", NS):
            if ei.get("identificationScheme") == UID_SCHEME:
                listed.add(ei.get("value"))
    retrievable, bad_bytes = set(), []
    for uid in sorted(set(sent) | listed):
        c, b = get("/api/documents/%s/%s/%s" % (urllib.parse.quote(COMMUNITY, safe=""), REPO_ID,
                                               urllib.parse.quote(uid, safe="")))
        if c == 200:
            retrievable.add(uid)
            if hashlib.sha1(b).hexdigest() != sent.get(uid):
                bad_bytes.append(uid)
    unanswered.update(retrievable - acked)
    lost = acked - retrievable
    half = listed ^ retrievable
    alien = listed - set(sent)
    print("     round %d: sent %d, acknowledged %d, in registry %d, retrievable %d"
          % (rnd, len(sent), len(acked), len(listed), len(retrievable)))
    if lost:
        ok = False
        failures.append("round %d: %d acknowledged documents lost: %s" % (rnd, len(lost), sorted(lost)[:5]))
    if bad_bytes:
        ok = False
        failures.append("round %d: %d documents with wrong bytes: %s" % (rnd, len(bad_bytes), bad_bytes[:5]))
    if half:
        ok = False
        failures.append("round %d: %d half-stored (listed xor retrievable): %s" % (rnd, len(half), sorted(half)[:5]))
    if alien:
        ok = False
        failures.append("round %d: registry lists documents never sent: %s" % (rnd, sorted(alien)[:5]))
    return ok


def main():
    random.seed()
    start_node()
    signer = Signer()
    kills = []
    for rnd in range(1, ROUNDS + 1):
        stats = {"acked": 0, "refused": 0, "errors": 0}
        wait = random.uniform(1.0, 3.0)
        t0 = time.monotonic()
        killer = threading.Timer(wait, lambda: os.kill(node.pid, signal.SIGKILL))
        killer.start()
        submit_until(t0 + wait + 1.0, signer, stats)
        killer.join()
        node.wait()
        kills.append(wait)
        print("     round %d: kill -9 after %.2f s; this round %d acknowledged, %d refused, %d cut off"
              % (rnd, wait, stats["acked"], stats["refused"], stats["errors"]))
        start_node()
        res = check(rnd)
        print("%s - round %d: after kill -9 and restart, every acknowledged document is retrievable, none half-stored"
              % ("ok  " if res else "FAIL", rnd))
    signer.stop = True
    node.send_signal(signal.SIGTERM)
    node.wait()
    print("summary: %d rounds, %d documents sent, %d acknowledged, %d stored without an answer (allowed: "
          "committed, answer cut off), kill -9 after %s s"
          % (ROUNDS, len(sent), len(acked), len(unanswered), ", ".join("%.2f" % k for k in kills)))
    for f in failures:
        print("FAIL - " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        if node is not None and node.poll() is None:
            node.kill()
